# Sourced by the tools: where the one engine lives. LibTorch 2.x is the libtorch inside
# PyTorch's PyPI wheel (CUDA-enabled, about 5 GB; it runs on the CPU too), installed in
# a virtual environment outside the clone, in a per-user cache keyed by the versions,
# so every clone and every CI run on a machine shares one install.
# WB_TORCH_VENV overrides the folder.
# Pinned, so every machine builds against the same headers and compares with the same
# references (transformers: the golden test of the igpt model).
WB_TORCH_VERSION=2.15.0
WB_TRANSFORMERS_VERSION=5.23.0
# pillow: ImageGPTImageProcessor, the reference tokens of the import test.
WB_PILLOW_VERSION=13.0.0
# tensorboard: its EventAccumulator reads `workbench export tensorboard`'s files back.
WB_TENSORBOARD_VERSION=2.21.0
WB_TORCH_VENV=${WB_TORCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/igpt-workbench/torch-$WB_TORCH_VERSION}
