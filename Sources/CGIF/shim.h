#ifndef TESSERA_CGIF_SHIM_H
#define TESSERA_CGIF_SHIM_H

// Debian's giflib 5 (gif_lib.h in the default include path; it ships no pkg-config file).
#include <gif_lib.h>

#endif
