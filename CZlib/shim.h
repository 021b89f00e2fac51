#ifndef TETHER_CZLIB_SHIM_H
#define TETHER_CZLIB_SHIM_H
#include <zlib.h>
#endif
