#ifndef FLASHSALE_CHIREDIS_SHIM_H
#define FLASHSALE_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#endif
