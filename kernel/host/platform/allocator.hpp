#pragma once

namespace wb {

// glibc's malloc serves blocks above 128 KiB-32 MiB (a threshold it moves) with mmap and
// gives them back to the kernel when freed, and trims the heap's top whenever 128 KiB
// are free there. A training step allocates and frees the same large activations every
// step, so each step faulted its pages in anew: 51k page faults and 0.74 s of a 3.39 s
// step of the second training benchmark size (bench/train_vs_pytorch.sh). This keeps
// freed memory in the process for reuse instead: blocks up to 32 MiB (glibc's highest
// allowed threshold) come from the heap, and the heap is never trimmed.
void keep_freed_memory();

}  // namespace wb
