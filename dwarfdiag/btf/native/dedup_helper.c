/*
 * dwarfdiag's libbpf dedup helper (SPDX-License-Identifier: BSD-2-Clause).
 *
 *   dedup_helper IN.btf OUT.btf [BASE.btf]
 *
 * Loads IN (split on BASE when given) with the libbpf.so.1 found at run
 * time, calls btf__dedup() and writes the result to OUT. It prints libbpf's
 * log on stderr and, last on stdout, "version=vX.Y stage=load|dedup ret=N".
 * Exit status 0 means the helper ran; ret says what libbpf decided.
 *
 * libbpf is opened with dlopen() rather than linked, so the one binary built
 * by the system compiler serves any libbpf: Debian 12's, or a newer one run
 * under its own unpacked loader and --library-path (libbpf 1.5 and 1.7 need
 * glibc >= 2.38, which this machine's Python cannot load).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

struct btf;
typedef struct btf *(*new_fn)(const void *, unsigned int);
typedef struct btf *(*parse_split_fn)(const char *, struct btf *);
typedef int (*dedup_fn)(struct btf *, const void *);
typedef const void *(*raw_fn)(const struct btf *, unsigned int *);
typedef const char *(*version_fn)(void);
typedef void *(*set_print_fn)(int (*)(int, const char *, va_list));

static int print_log(int level, const char *fmt, va_list args)
{
	(void)level;
	return vfprintf(stderr, fmt, args);
}

static void *read_file(const char *path, unsigned int *size)
{
	FILE *f = fopen(path, "rb");
	void *data;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc(n ? n : 1);
	if (data && fread(data, 1, n, f) != (size_t)n) {
		free(data);
		data = NULL;
	}
	fclose(f);
	*size = (unsigned int)n;
	return data;
}

static void *need(void *lib, const char *name)
{
	void *sym = dlsym(lib, name);

	if (!sym) {
		fprintf(stderr, "dedup_helper: libbpf lacks %s\n", name);
		exit(3);
	}
	return sym;
}

int main(int argc, char **argv)
{
	void *lib = dlopen("libbpf.so.1", RTLD_NOW);
	struct btf *btf, *base = NULL;
	const char *version = "?";
	unsigned int size, out_size;
	const void *out;
	void *data;
	FILE *f;
	int err;

	if (argc < 3) {
		fprintf(stderr, "usage: dedup_helper IN.btf OUT.btf [BASE.btf]\n");
		return 2;
	}
	if (!lib) {
		fprintf(stderr, "dedup_helper: %s\n", dlerror());
		return 3;
	}
	if (dlsym(lib, "libbpf_version_string"))
		version = ((version_fn)need(lib, "libbpf_version_string"))();
	((set_print_fn)need(lib, "libbpf_set_print"))(print_log);

	if (argc > 3) {
		data = read_file(argv[3], &size);
		base = data ? ((new_fn)need(lib, "btf__new"))(data, size) : NULL;
		if (!base) {
			printf("version=%s stage=load ret=%d\n", version, -EINVAL);
			return 0;
		}
		btf = ((parse_split_fn)need(lib, "btf__parse_raw_split"))(argv[1], base);
	} else {
		data = read_file(argv[1], &size);
		btf = data ? ((new_fn)need(lib, "btf__new"))(data, size) : NULL;
	}
	/* libbpf >= 1.0 returns NULL and sets errno when it refuses the input */
	if (!btf) {
		printf("version=%s stage=load ret=%d\n", version, errno ? -errno : -EINVAL);
		return 0;
	}
	err = ((dedup_fn)need(lib, "btf__dedup"))(btf, NULL);
	if (!err) {
		out = ((raw_fn)need(lib, "btf__raw_data"))(btf, &out_size);
		f = fopen(argv[2], "wb");
		if (!f || fwrite(out, 1, out_size, f) != out_size) {
			fprintf(stderr, "dedup_helper: cannot write %s\n", argv[2]);
			return 4;
		}
		fclose(f);
	}
	printf("version=%s stage=dedup ret=%d\n", version, err);
	return 0;
}
