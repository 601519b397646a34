#ifndef FLASHSALE_CHIREDIS_SHIM_H
#define FLASHSALE_CHIREDIS_SHIM_H
// pkg-config puts /usr/include/hiredis on the include path.
#include <hiredis.h>
#include <read.h>
#endif
