#!/bin/bash
# Regenerates tests/golden/model/: reference logits of scripts/torch_reference.py (the oracle) for
#  - stories260K (the shared trained checkpoint; its 30 greedy ids are in /work/shared/models/README.md)
#  - a tiny random checkpoint of each architecture, written by `troupe make-model` with the
#    stories260K tokenizer (vocab 512) so the logits stay small. Each file records the make-model
#    options and the FNV-1a 64 hash of model.safetensors; random_checkpoint_test checks that
#    write_random_checkpoint still produces those exact bytes.
# Usage: scripts/make_model_golden.sh [path/to/troupe]   (default: build/release/bin/troupe)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
troupe=${1:-$root/build/release/bin/troupe}
models=$root/../shared/models
golden=$root/tests/golden/model
prompt=1,403,407,261,378
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$golden"

"$root/scripts/torch_reference.py" --model "$models/stories260K" --prompt-ids $prompt --generate 30 --out "$golden/stories260K.json"

for spec in "llama bf16" "mistral f32" "qwen2 f16" "qwen3 bf16"; do
  set -- $spec
  arch=$1 dtype=$2
  "$troupe" make-model --arch "$arch" --size tiny --dtype "$dtype" --seed 0 --tokenizer "$models/stories260K" --out "$tmp/$arch"
  "$root/scripts/torch_reference.py" --model "$tmp/$arch" --prompt-ids $prompt --generate 8 --out "$tmp/$arch.json"
  /usr/bin/python3 - "$arch" "$dtype" "$tmp/$arch" "$tmp/$arch.json" "$golden/tiny_$arch.json" <<'PY'
import json, sys
arch, dtype, model_dir, reference, out = sys.argv[1:]
h = 0xcbf29ce484222325
with open(f"{model_dir}/model.safetensors", "rb") as f:
    for byte in f.read():
        h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
golden = {"oracle": "scripts/torch_reference.py", "regenerate": "scripts/make_model_golden.sh",
          "checkpoint": {"arch": arch, "size": "tiny", "dtype": dtype, "seed": 0, "tokenizer": "stories260K"},
          "model_safetensors_fnv1a64": f"{h:016x}"}
golden.update(json.load(open(reference)))
with open(out, "w") as f:
    f.write(json.dumps(golden) + "\n")
PY
done
