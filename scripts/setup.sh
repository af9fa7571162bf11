#!/usr/bin/env bash
# Installs what webgpu-vae needs from Debian when it is missing:
#   chromium   - headless browser tests, and SwiftShader (software Vulkan) for
#                WebGPU on machines without a GPU
#   libvulkan1 - the Vulkan loader Dawn (Node) uses to reach SwiftShader or a GPU
#   dataset-fashion-mnist - Fashion-MNIST (60,000 + 10,000 images) for --dataset fashion-mnist
#   rdkit-data - real molecules (SMILES) for --dataset smiles and smiles-nci
#   fortunes   - text (Debian's fortune cookies) for --dataset text
#   python3-torch, python3-numpy - PyTorch, for the tests of `webgpu-vae export --pytorch`
#                (DistributedDataParallel on CPU); the library itself does not need them
#   python3-rdkit - RDKit for Python: the PyTorch sequence reference's validity,
#                uniqueness and novelty (scripts/torch_sequence_reference.py and its tests)
# Set WEBGPU_VAE_SKIP_APT=1 to skip this check (e.g. when Chrome lives elsewhere
# and CHROMIUM_PATH points at it).
set -euo pipefail

if [[ "${WEBGPU_VAE_SKIP_APT:-}" == "1" ]]; then exit 0; fi

want=(chromium libvulkan1 dataset-fashion-mnist rdkit-data fortunes python3-torch python3-numpy python3-rdkit "$@")
missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: missing ${missing[*]} and this is not a Debian/Ubuntu system (no apt-get)." >&2
  echo "setup: install a Chromium/Chrome build and a Vulkan loader, then set CHROMIUM_PATH and WEBGPU_VAE_SKIP_APT=1." >&2
  exit 1
fi
SUDO=""
if [[ "$(id -u)" != "0" ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "setup: missing Debian packages: ${missing[*]}; run as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
echo "setup: installing ${missing[*]} with apt-get (once)…"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: installed ${missing[*]}"
