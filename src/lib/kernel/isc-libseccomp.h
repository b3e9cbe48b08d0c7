/* SPDX-License-Identifier: GPL-2.0-or-later
 * libseccomp's <seccomp.h>.  Our own src/lib/seccomp.h comes first on the
 * include path and hides it, so include this file with angle brackets
 * (#include <isc-libseccomp.h>): #include_next then continues the search
 * after src/lib and finds the system header. */
#ifndef ISC_LIBSECCOMP_H
#define ISC_LIBSECCOMP_H
#include_next <seccomp.h>
#endif
