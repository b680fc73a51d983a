#!/usr/bin/python3
"""Independent reader of a Hugging Face folder written by `mtk export --format hf`.

Reads config.json and model.safetensors (parsed here: an 8-byte header length, a JSON header, raw little-endian
tensors) into this folder's plain-PyTorch BERT (pytorch_reference.py's Embeddings and Layer), computes what
transformers' BertForSequenceClassification computes, classifier(tanh(pooler.dense(h[CLS]))), or, for a folder whose
architectures is BertForTokenClassification, classifier(h) on every token ([batch, tokens, tags]), and prints the
logits as JSON. It shares no code with the kit, so agreement checks the folder's key names, shapes and head mapping.

    /usr/bin/python3 bench/hf_folder_check.py --folder DIR --input batch.json
batch.json: {"input_ids": [[...], ...], "attention_mask": [[...], ...]}
"""
import argparse
import json
import os
import struct
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_reference import Embeddings, Layer  # noqa: E402

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    base = 8 + length
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = bytearray(data[base + start:base + end])
        tensors[name] = torch.frombuffer(raw, dtype=DTYPES[info["dtype"]]).reshape(info["shape"]).clone()
    return tensors


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--folder", required=True)
    p.add_argument("--input", required=True)
    a = p.parse_args()
    config = json.load(open(os.path.join(a.folder, "config.json")))
    if config["hidden_act"] != "gelu" or abs(config["layer_norm_eps"] - 1e-12) > 1e-15:
        sys.exit("hf_folder_check: the reference BERT has exact GELU and eps 1e-12 only")
    w = read_safetensors(os.path.join(a.folder, "model.safetensors"))
    hidden, heads, layers = config["hidden_size"], config["num_attention_heads"], config["num_hidden_layers"]
    labels = len(config["id2label"])
    embeddings = Embeddings(config["vocab_size"], hidden, config["max_position_embeddings"], 0.0)
    embeddings.load_state_dict({k[len("bert.embeddings."):]: v for k, v in w.items() if k.startswith("bert.embeddings.")})
    names = {"query": "attention.self.query", "key": "attention.self.key", "value": "attention.self.value",
             "attention_output": "attention.output.dense", "attention_norm": "attention.output.LayerNorm",
             "intermediate": "intermediate.dense", "output": "output.dense", "output_norm": "output.LayerNorm"}
    stack = []
    for i in range(layers):
        layer = Layer(hidden, heads, config["intermediate_size"], 0.0)
        layer.load_state_dict({f"{mine}.{p}": w[f"bert.encoder.layer.{i}.{theirs}.{p}"] for mine, theirs in names.items() for p in ("weight", "bias")})
        stack.append(layer)
    tokens = config["architectures"] == ["BertForTokenClassification"]
    if not tokens:
        pooler = nn.Linear(hidden, hidden)
        pooler.load_state_dict({"weight": w["bert.pooler.dense.weight"], "bias": w["bert.pooler.dense.bias"]})
    classifier = nn.Linear(hidden, labels)
    classifier.load_state_dict({"weight": w["classifier.weight"], "bias": w["classifier.bias"]})
    batch = json.load(open(a.input))
    ids = torch.tensor(batch["input_ids"], dtype=torch.int64)
    mask = torch.tensor(batch["attention_mask"], dtype=torch.int64)
    with torch.no_grad():
        x = embeddings(ids)
        additive = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for layer in stack:
            x = layer(x, additive)
        logits = classifier(x) if tokens else classifier(torch.tanh(pooler(x[:, 0])))
    print(json.dumps({"problem_type": config.get("problem_type"), "logits": logits.tolist()}))


if __name__ == "__main__":
    main()
