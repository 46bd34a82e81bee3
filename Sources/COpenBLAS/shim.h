#ifndef TESSERA_COPENBLAS_SHIM_H
#define TESSERA_COPENBLAS_SHIM_H

// OpenBLAS's CBLAS interface (the include path comes from `pkg-config openblas`)
// and LAPACKE, which Debian ships as a separate library (liblapacke).
#include <cblas.h>
#include <lapacke.h>

#endif
