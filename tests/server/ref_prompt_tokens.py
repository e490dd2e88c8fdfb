#!/usr/bin/env python3
"""Independent prompt-token counts for the server tests.

Reads a JSON list of {"messages": [...], "thinking": "default"|"off"} from
stdin and prints a JSON list of token counts: each conversation rendered with
the DeepSeek-R1 chat template by jinja2 (what transformers' apply_chat_template
does; add_generation_prompt=True, bos_token "<｜begin▁of▁sentence｜>"), plus
"\\n</think>\\n\\n" for thinking "off" (docs/CHAT.md, the R1 family's OFF form),
tokenized by Hugging Face `tokenizers` from the npm DeepSeek-V3 tokenizer.json
with placeholders 128798/128799 renamed "<think>"/"</think>" as in R1 (and in
tools/make_tiny_r1.py).  Needs jinja2 + tokenizers (/opt/deepc-tools).
"""
import json
import os
import sys

import jinja2
from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOK = os.path.join(os.environ.get("DEEPC_TOK_DIR", "/opt/deepc-tok"), "node_modules", "@lenml",
                   "tokenizer-deepseek_v3", "models", "tokenizer.json")
TEMPLATE = os.path.join(ROOT, "tests", "data", "chat", "templates", "deepseek-r1.jinja")
BOS = "<｜begin▁of▁sentence｜>"


def main():
    with open(TOK, encoding="utf-8") as f:
        j = json.load(f)
    names = {128798: "<think>", 128799: "</think>"}
    for a in j["added_tokens"]:
        if a["id"] in names:
            a["content"] = names[a["id"]]
            a["special"] = False
    tok = Tokenizer.from_str(json.dumps(j))
    with open(TEMPLATE, encoding="utf-8") as f:
        tmpl = jinja2.Environment().from_string(f.read())
    out = []
    for conv in json.load(sys.stdin):
        text = tmpl.render(messages=conv["messages"], add_generation_prompt=True, bos_token=BOS)
        if conv.get("thinking") == "off":
            text += "\n</think>\n\n"
        out.append(len(tok.encode(text, add_special_tokens=False).ids))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
