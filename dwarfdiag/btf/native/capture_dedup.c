/*
 * dwarfdiag's btf__dedup interposer (SPDX-License-Identifier: BSD-2-Clause).
 *
 * pahole builds its whole BTF with libbpf's btf__add_*() and then calls
 * btf__dedup(); when dedup fails, pahole writes nothing. Preloading this
 * library in front of pahole's libbpf lets us keep the BTF exactly as pahole
 * handed it to dedup, plus libbpf's own return value.
 *
 * $DWARFDIAG_CAPTURE names the output prefix: call N (counted from 0) writes
 * PREFIX.N.btf (raw BTF, as btf__raw_data() returns it) and, once the real
 * btf__dedup() has returned, PREFIX.N.ret holding its return value in decimal.
 *
 * Nothing links against libbpf: the real functions are looked up at run time
 * in whatever libbpf pahole loaded, so the same library serves the system's
 * libbpf 1.1 and an unpacked libbpf 1.5 or 1.7 under its own loader.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

struct btf;
struct btf_dedup_opts;

typedef int (*dedup_fn)(struct btf *, const struct btf_dedup_opts *);
typedef const void *(*raw_data_fn)(const struct btf *, unsigned int *);

static int calls;

static void write_file(const char *prefix, int n, const char *suffix,
		       const void *data, size_t size)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s.%d.%s", prefix, n, suffix);
	f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "dwarfdiag capture: cannot write %s\n", path);
		return;
	}
	if (size && fwrite(data, 1, size, f) != size)
		fprintf(stderr, "dwarfdiag capture: short write to %s\n", path);
	fclose(f);
}

int btf__dedup(struct btf *btf, const struct btf_dedup_opts *opts)
{
	const char *prefix = getenv("DWARFDIAG_CAPTURE");
	dedup_fn real = (dedup_fn)dlsym(RTLD_NEXT, "btf__dedup");
	int n = calls++;
	char ret[32];
	int err;

	if (!real) {
		fprintf(stderr, "dwarfdiag capture: btf__dedup not found in any loaded libbpf\n");
		return -1;
	}
	if (prefix) {
		/* btf__raw_data() since libbpf 0.8; btf__get_raw_data() before. */
		raw_data_fn raw = (raw_data_fn)dlsym(RTLD_DEFAULT, "btf__raw_data");
		unsigned int size = 0;
		const void *data;

		if (!raw)
			raw = (raw_data_fn)dlsym(RTLD_DEFAULT, "btf__get_raw_data");
		data = raw ? raw(btf, &size) : NULL;
		if (data)
			write_file(prefix, n, "btf", data, size);
		else
			fprintf(stderr, "dwarfdiag capture: libbpf gave no raw BTF\n");
	}
	err = real(btf, opts);
	if (prefix) {
		int len = snprintf(ret, sizeof(ret), "%d\n", err);
		write_file(prefix, n, "ret", ret, (size_t)len);
	}
	return err;
}
