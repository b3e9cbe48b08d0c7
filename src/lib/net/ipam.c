/* SPDX-License-Identifier: GPL-2.0-or-later
 * IPAM: subnets, addresses and the persistent allocation file (ipam.h). */
#include "net/ipam.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

#define IPAM_FILE "ipam.json"
#define IPAM_LOCK "ipam.lock"

int isc_subnet_parse(const char *s, struct isc_subnet *out, isc_error **err)
{
	if (s == NULL)
		return isc_error_set(err, EINVAL, "subnet: missing");
	const char *slash = strchr(s, '/');
	char addr[INET_ADDRSTRLEN];
	if (slash == NULL || (size_t)(slash - s) >= sizeof(addr))
		return isc_error_set(err, EINVAL, "subnet %s: expected A.B.C.D/PREFIX", s);
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	struct in_addr a;
	if (inet_pton(AF_INET, addr, &a) != 1)
		return isc_error_set(err, EINVAL, "subnet %s: bad address %s", s, addr);
	uint64_t p;
	if (isc_parse_u64(slash + 1, &p) < 0 || p < 8 || p > 29)
		return isc_error_set(err, EINVAL, "subnet %s: the prefix length must be 8..29", s);
	uint32_t net = ntohl(a.s_addr);
	uint32_t mask = p == 0 ? 0 : ~0u << (32 - p);
	if ((net & ~mask) != 0)
		return isc_error_set(err, EINVAL, "subnet %s: host bits set (the network address is needed)", s);
	out->net = net;
	out->prefix = (int)p;
	return 0;
}

void isc_subnet_format(const struct isc_subnet *s, char *buf, size_t len)
{
	struct in_addr a = { .s_addr = htonl(s->net) };
	char t[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &a, t, sizeof(t));
	snprintf(buf, len, "%s/%d", t, s->prefix);
}

static uint32_t mask_of(int prefix)
{
	return prefix <= 0 ? 0 : ~0u << (32 - prefix);
}

bool isc_subnet_overlaps(const struct isc_subnet *a, const struct isc_subnet *b)
{
	uint32_t m = mask_of(a->prefix < b->prefix ? a->prefix : b->prefix);
	return (a->net & m) == (b->net & m);
}

bool isc_subnet_contains(const struct isc_subnet *s, struct in_addr a)
{
	return (ntohl(a.s_addr) & mask_of(s->prefix)) == s->net;
}

struct in_addr isc_subnet_gateway(const struct isc_subnet *s)
{
	return (struct in_addr){ .s_addr = htonl(s->net + 1) };
}

uint32_t isc_subnet_capacity(const struct isc_subnet *s)
{
	return (uint32_t)((1ull << (32 - s->prefix)) - 3);
}

struct in_addr isc_subnet_addr(const struct isc_subnet *s, uint32_t id)
{
	return (struct in_addr){ .s_addr = htonl(s->net + 1 + id) };
}

void isc_ipam_mac(struct in_addr a, uint8_t mac[6])
{
	mac[0] = 0x02; /* locally administered, unicast */
	mac[1] = 0x15;
	memcpy(mac + 2, &a.s_addr, 4); /* network order: a.b.c.d */
}

void isc_ipam_ifname(uint32_t id, char *buf, size_t len)
{
	snprintf(buf, len, "vc%u", id);
}

void isc_ipam_entries_free(struct isc_ipam_entry *e, size_t n)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

/* ---- the file ------------------------------------------------------------ */

struct ipam_db {
	int lock_fd;
	int dir_fd;
	json_t *root; /* {"subnet", "next", "containers"} or NULL when absent */
	struct isc_subnet subnet;
};

static void ipam_db_close(struct ipam_db *db)
{
	if (db->root != NULL)
		json_decref(db->root);
	db->root = NULL;
	/* closing the lock fd releases the flock */
	isc_closep(&db->lock_fd);
	isc_closep(&db->dir_fd);
}

static int ipam_db_open(const char *dir, bool write, bool must_exist, struct ipam_db *db, isc_error **err)
{
	db->lock_fd = db->dir_fd = -1;
	db->root = NULL;
	if (write && isc_mkdir_p(dir, 0700, err) < 0)
		return -1;
	db->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (db->dir_fd < 0) {
		if (errno == ENOENT && must_exist)
			return isc_error_set(err, ENOENT, "the private network is not set up (no %s)", dir);
		return isc_error_set(err, errno, "open %s", dir);
	}
	db->lock_fd = openat(db->dir_fd, IPAM_LOCK, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (db->lock_fd < 0)
		return isc_error_set(err, errno, "open %s/%s", dir, IPAM_LOCK);
	if (flock(db->lock_fd, write ? LOCK_EX : LOCK_SH) < 0)
		return isc_error_set(err, errno, "flock %s/%s", dir, IPAM_LOCK);
	cleanup_free char *buf = NULL;
	if (isc_read_file_at(db->dir_fd, IPAM_FILE, &buf, NULL, 0, err) < 0) {
		if ((*err)->errnum == ENOENT && !must_exist) {
			isc_error_free(err);
			return 0;
		}
		if ((*err)->errnum == ENOENT)
			return isc_error_set(err, ENOENT, "the private network is not set up (no %s/%s)", dir,
					     IPAM_FILE);
		return isc_error_wrap(err, "ipam");
	}
	json_error_t je;
	db->root = json_loads(buf, 0, &je);
	json_t *containers = db->root ? json_object_get(db->root, "containers") : NULL;
	const char *subnet = db->root ? json_string_value(json_object_get(db->root, "subnet")) : NULL;
	if (!json_is_object(containers) || subnet == NULL)
		return isc_error_set(err, EINVAL, "%s/%s: corrupt (%s)", dir, IPAM_FILE,
				     db->root ? "missing subnet or containers" : je.text);
	if (isc_subnet_parse(subnet, &db->subnet, err) < 0)
		return isc_error_wrap(err, "%s/%s", dir, IPAM_FILE);
	return 0;
}

static int ipam_db_save(struct ipam_db *db, const char *dir, isc_error **err)
{
	cleanup_free char *s = json_dumps(db->root, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (s == NULL)
		return isc_error_set(err, ENOMEM, "ipam: serialise");
	size_t len = strlen(s);
	s[len] = '\0';
	if (isc_write_file_durable(db->dir_fd, IPAM_FILE, s, len, 0600, err) < 0)
		return isc_error_wrap(err, "ipam %s", dir);
	return 0;
}

static int entry_from_json(const struct isc_subnet *sn, const char *name, json_t *v, struct isc_ipam_entry *out,
			   isc_error **err)
{
	json_int_t id = json_integer_value(json_object_get(v, "id"));
	if (id < 1 || (uint64_t)id > isc_subnet_capacity(sn))
		return isc_error_set(err, EINVAL, "ipam: container %s: bad id", name);
	out->name = isc_xstrdup(name);
	out->id = (uint32_t)id;
	out->addr = isc_subnet_addr(sn, (uint32_t)id);
	return 0;
}

int isc_ipam_setup(const char *dir, const char *subnet, isc_error **err)
{
	struct isc_subnet sn;
	if (isc_subnet_parse(subnet, &sn, err) < 0)
		return -1;
	char canon[32];
	isc_subnet_format(&sn, canon, sizeof(canon));
	struct ipam_db db;
	int r = ipam_db_open(dir, true, false, &db, err);
	if (r == 0 && db.root != NULL) {
		if (db.subnet.net == sn.net && db.subnet.prefix == sn.prefix) {
			ipam_db_close(&db);
			return 0;
		}
		if (json_object_size(json_object_get(db.root, "containers")) > 0) {
			char old[32];
			isc_subnet_format(&db.subnet, old, sizeof(old));
			ipam_db_close(&db);
			return isc_error_set(err, EEXIST,
					     "subnet %s: the private network already uses %s with containers on it",
					     canon, old);
		}
	}
	if (r == 0) {
		if (db.root != NULL)
			json_decref(db.root);
		db.root = json_pack("{s:s, s:i, s:{}}", "subnet", canon, "next", 1, "containers");
		r = ipam_db_save(&db, dir, err);
	}
	ipam_db_close(&db);
	return r;
}

int isc_ipam_subnet(const char *dir, struct isc_subnet *out, isc_error **err)
{
	struct ipam_db db;
	int r = ipam_db_open(dir, false, true, &db, err);
	if (r == 0)
		*out = db.subnet;
	ipam_db_close(&db);
	return r;
}

/* The lowest free id at or after `next`, wrapping; 0 when full. */
static uint32_t pick_id(json_t *containers, json_int_t next, uint32_t cap)
{
	/* a bitmap of the used ids (cap <= 2^24 - 3: 2 MiB at most) */
	cleanup_free uint8_t *used = isc_xmalloc0(cap / 8 + 2);
	const char *k;
	json_t *v;
	json_object_foreach(containers, k, v) {
		json_int_t id = json_integer_value(json_object_get(v, "id"));
		if (id >= 1 && (uint64_t)id <= cap)
			used[id / 8] |= (uint8_t)(1u << (id % 8));
	}
	if (next < 1 || (uint64_t)next > cap)
		next = 1;
	for (uint32_t i = 0; i < cap; i++) {
		uint32_t cand = (uint32_t)((((uint64_t)next - 1 + i) % cap) + 1);
		if (!(used[cand / 8] & (1u << (cand % 8))))
			return cand;
	}
	return 0;
}

int isc_ipam_alloc(const char *dir, const char *name, struct isc_ipam_entry *out, bool *created, isc_error **err)
{
	struct ipam_db db;
	if (created)
		*created = false;
	if (ipam_db_open(dir, true, true, &db, err) < 0) {
		ipam_db_close(&db);
		return -1;
	}
	int r = -1;
	json_t *containers = json_object_get(db.root, "containers");
	json_t *have = json_object_get(containers, name);
	if (have != NULL) {
		r = entry_from_json(&db.subnet, name, have, out, err);
		goto out;
	}
	uint32_t cap = isc_subnet_capacity(&db.subnet);
	uint32_t id = pick_id(containers, json_integer_value(json_object_get(db.root, "next")), cap);
	if (id == 0) {
		char s[32];
		isc_subnet_format(&db.subnet, s, sizeof(s));
		r = isc_error_set(err, ENOSPC, "ipam: no free address left in %s for %s", s, name);
		goto out;
	}
	struct in_addr a = isc_subnet_addr(&db.subnet, id);
	char as[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &a, as, sizeof(as));
	json_object_set_new(containers, name, json_pack("{s:i, s:s}", "id", (json_int_t)id, "addr", as));
	json_object_set_new(db.root, "next", json_integer(id % cap + 1));
	if (ipam_db_save(&db, dir, err) < 0)
		goto out;
	out->name = isc_xstrdup(name);
	out->id = id;
	out->addr = a;
	if (created)
		*created = true;
	r = 0;
out:
	ipam_db_close(&db);
	return r;
}

int isc_ipam_lookup(const char *dir, const char *name, struct isc_ipam_entry *out, isc_error **err)
{
	struct ipam_db db;
	int r = ipam_db_open(dir, false, true, &db, err);
	if (r == 0) {
		json_t *v = json_object_get(json_object_get(db.root, "containers"), name);
		if (v == NULL)
			r = isc_error_set(err, ENOENT,
					  "unknown container %s (it has no address on the private network)", name);
		else
			r = entry_from_json(&db.subnet, name, v, out, err);
	}
	ipam_db_close(&db);
	return r;
}

int isc_ipam_release(const char *dir, const char *name, isc_error **err)
{
	struct ipam_db db;
	int r = ipam_db_open(dir, true, true, &db, err);
	if (r == 0) {
		json_t *containers = json_object_get(db.root, "containers");
		if (json_object_get(containers, name) == NULL)
			r = isc_error_set(err, ENOENT,
					  "unknown container %s (it has no address on the private network)", name);
		else {
			json_object_del(containers, name);
			r = ipam_db_save(&db, dir, err);
		}
	}
	ipam_db_close(&db);
	return r;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct isc_ipam_entry *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

int isc_ipam_list(const char *dir, struct isc_ipam_entry **out, size_t *n, isc_error **err)
{
	struct ipam_db db;
	*out = NULL;
	*n = 0;
	int r = ipam_db_open(dir, false, true, &db, err);
	if (r == 0) {
		json_t *containers = json_object_get(db.root, "containers");
		size_t cnt = json_object_size(containers), i = 0;
		struct isc_ipam_entry *e = isc_xmalloc0((cnt + 1) * sizeof(*e));
		const char *k;
		json_t *v;
		json_object_foreach(containers, k, v) {
			if (entry_from_json(&db.subnet, k, v, &e[i], err) < 0) {
				isc_ipam_entries_free(e, i);
				ipam_db_close(&db);
				return -1;
			}
			i++;
		}
		qsort(e, i, sizeof(*e), entry_cmp);
		*out = e;
		*n = i;
	}
	ipam_db_close(&db);
	return r;
}
