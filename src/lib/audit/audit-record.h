/* SPDX-License-Identifier: GPL-2.0-or-later
 * Kernel audit records -> one JSON event per audit serial (docs/audit.md).
 * Pure parsing, no system calls: fed by isc-auditd, fuzzed by
 * tests/fuzz/fuzz_audit_record.c.
 *
 * A kernel record is its type (nlmsg_type) and a text
 * "audit(SEC.MSEC:SERIAL): key=value key=value ...".  One exec produces
 * SYSCALL, EXECVE (possibly several), CWD, PATH..., PROCTITLE and EOE with
 * the same serial; the assembler groups them and emits one event:
 *   {"type":"exec","time":RFC3339,"serial":N,"auid":A,"ses":S,"pid":P,"ppid":Q,
 *    "uid":U,"exe":"/bin/echo","comm":"echo","argv":["/bin/echo","hi"],
 *    "cwd":"/","result":"success"|"failed","exit":E,"syscall":"execve"|"execveat",
 *    "arch":"x86_64"|"i386"}
 * LOGIN (a loginuid being set) becomes "loginuid"; userspace AUDIT_USER_*
 * messages become "user" with their fields. */
#ifndef ISC_AUDIT_RECORD_H
#define ISC_AUDIT_RECORD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define ISC_AUDIT_SYSCALL 1300
#define ISC_AUDIT_PATH 1302
#define ISC_AUDIT_CWD 1307
#define ISC_AUDIT_EXECVE 1309
#define ISC_AUDIT_EOE 1320
#define ISC_AUDIT_PROCTITLE 1327
#define ISC_AUDIT_LOGIN 1006
#define ISC_AUDIT_FIRST_USER_MSG 1100
#define ISC_AUDIT_LAST_USER_MSG 1199
#define ISC_AUDIT_FIRST_USER_MSG2 2100
#define ISC_AUDIT_LAST_USER_MSG2 2999

/* "audit(SEC.MSEC:SERIAL): " -> the offset of the body, or -1. */
int isc_audit_record_header(const char *text, size_t len, uint64_t *sec, uint32_t *msec, uint64_t *serial);

/* The value of `key` in a record body (decoded: quotes removed, hex-encoded
 * strings of the string fields decoded), newly allocated; NULL when absent. */
char *isc_audit_field(const char *body, size_t len, const char *key);

/* Decode an audit hex string ("2F62696E") into bytes + NUL; NULL when it is
 * not hex. */
char *isc_audit_unhex(const char *s, size_t len, size_t *outlen);

/* The argv of the EXECVE records' bodies (concatenated with spaces):
 * argc=N a0=... aN[i]= aN_len=...; NULL when malformed. */
json_t *isc_audit_execve_argv(const char *body, size_t len);

/* RFC 3339 UTC with milliseconds. */
void isc_audit_time_format(uint64_t sec, uint32_t msec, char out[64]);

/* The assembler: records in, events out. */
struct isc_audit_asm;
struct isc_audit_asm *isc_audit_asm_new(void);
void isc_audit_asm_free(struct isc_audit_asm *a);
/* Feed one record.  Completed events (this one, or older ones pushed out)
 * are appended to `out` (a JSON array).  Returns 0, or -1 for a record
 * that is not audit text (ignored). */
int isc_audit_asm_add(struct isc_audit_asm *a, int type, const char *text, size_t len, json_t *out);
/* Emit events whose last record is older than `age_ms` (kernel time) or all
 * with age_ms 0: records of one serial arrive together, so an event without
 * EOE (LOGIN) is complete once a newer serial has been seen for a while. */
void isc_audit_asm_flush(struct isc_audit_asm *a, uint64_t now_ms, uint64_t age_ms, json_t *out);
/* Records that did not parse since the start. */
uint64_t isc_audit_asm_malformed(const struct isc_audit_asm *a);

/* The auid of an event (its "auid" member), ISC_AUDIT_ID_UNSET when none. */
uint32_t isc_audit_event_auid(json_t *ev);

/* Container names of one host: R/audit/ids.json {"1000001": "web", ...}. */
const char *isc_audit_names_lookup(json_t *names, uint32_t auid);

#endif
