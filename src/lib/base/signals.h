/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ISC_SIGNALS_H
#define ISC_SIGNALS_H
/* "TERM", "SIGTERM", "15", "RTMIN+3" -> signal number; -1 when unknown. */
int isc_signal_parse(const char *s);
const char *isc_signal_name(int sig); /* "SIGTERM"; NULL when unknown */
#endif
