#pragma once

namespace wb {

// OpenBLAS picks its matrix kernels from the CPU's model number. On CPUs it does not
// recognise (e.g. a VM reporting "Intel(R) Xeon(R) Processor") it falls back to the
// SSE3 "Prescott" kernels although the CPU has AVX2 or AVX-512. Measured on the
// 2-core dev machine (quickstart model, 30 training steps): 8.6k tokens/s with the
// fallback, 16.5k with OPENBLAS_CORETYPE=SkylakeX, 12.3k with Haswell.
//
// OpenBLAS reads OPENBLAS_CORETYPE only when it loads, so when the fallback is in
// use and the CPU can do better, this sets the variable and re-executes the program
// (same arguments). It does nothing when OPENBLAS_CORETYPE is already set, when the
// BLAS is not OpenBLAS, or when detection worked.
void use_best_openblas_kernel(char** argv);

}  // namespace wb
