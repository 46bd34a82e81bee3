#ifndef TESSERA_CJPEG_SHIM_H
#define TESSERA_CJPEG_SHIM_H

// libjpeg-turbo's TurboJPEG API, which reports errors by return value (libjpeg's own API
// reports them by longjmp, which Swift cannot catch).
#include <turbojpeg.h>

#endif
