"""A placeholder vocabulary for fixture and benchmark GGUFs.

llama.cpp refuses to load a model without tokenizer keys; the project's test
and benchmark models are fed token ids directly, so a SentencePiece-style
vocabulary of <unk>, <s>, </s>, 256 byte tokens and "tokN" fillers is enough.
"""


def add_placeholder_vocab(w, n_vocab):
    """Adds tokenizer.ggml.* keys for n_vocab placeholder tokens to GGUFWriter w."""
    import gguf

    toks, types = [], []
    for i in range(n_vocab):
        if i == 0:
            toks.append("<unk>"); types.append(gguf.TokenType.UNKNOWN)
        elif i in (1, 2):
            toks.append(["<s>", "</s>"][i - 1]); types.append(gguf.TokenType.CONTROL)
        elif i < 3 + 256:
            toks.append("<0x%02X>" % (i - 3)); types.append(gguf.TokenType.BYTE)
        else:
            toks.append("tok%d" % i); types.append(gguf.TokenType.NORMAL)
    w.add_tokenizer_model("llama")
    w.add_token_list(toks)
    w.add_token_scores([0.0] * n_vocab)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
