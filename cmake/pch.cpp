// The one file of wb_pch (cmake/SharedPch.cmake): a target exists to own the shared
// precompiled header of <torch/torch.h>, and CMake needs a source to make one.
