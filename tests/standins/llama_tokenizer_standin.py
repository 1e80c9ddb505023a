"""Stand-in for transformers.models.llama.tokenization_llama (VideoPhy-2's tokenizer): token ids are characters."""

from pathlib import Path


class LlamaTokenizer:
    @classmethod
    def from_pretrained(cls, path):
        assert (Path(path) / "tokenizer.model").is_file(), f"no tokenizer.model in {path}"
        return cls()

    def decode(self, ids, skip_special_tokens=False):
        assert skip_special_tokens is True
        assert isinstance(ids, list) and all(isinstance(i, int) for i in ids), "decode takes a list of ints"
        return "".join(chr(i) for i in ids)
