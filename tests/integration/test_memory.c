/* SPDX-License-Identifier: MIT */
/* Memory layout of the running daemon (issue 16), read from /proc, no thresholds on amounts that
 * vary: the network thread runs on a small stack of its own size (not glibc's 8 MiB default) and
 * the process has one malloc arena (the network thread allocates from the main heap). The world
 * of test-daemon (fixture.h), connected, after its start-up publishes. */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixture.h"

/* The network thread's stack must be modest (the daemon asks for 256 KiB) and still leave room
 * (its deepest use measured is 16 KiB). */
#define STACK_MIN (64u * 1024)
#define STACK_MAX (1024u * 1024)

struct mapping {
	uintptr_t lo, hi;
	char perm[5];
	bool anon;
};

/* /proc/PID/maps into MAPS (at most MAX), their number */
static size_t maps_read(pid_t pid, struct mapping *maps, size_t max)
{
	char path[64], line[512];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		struct mapping *m = &maps[n];
		unsigned long lo, hi, inode;
		char name[256] = "";

		if (sscanf(line, "%lx-%lx %4s %*s %*s %lu %255s", &lo, &hi, m->perm, &inode, name) < 4)
			continue;
		m->lo = lo;
		m->hi = hi;
		m->anon = inode == 0 && name[0] == '\0';
		n++;
	}
	fclose(f);
	return n;
}

/* The stack pointer of thread TID of PID (task/TID/syscall: "NR ARGS... SP PC"; "running" while
 * it runs, so asked a few times), 0 when unknown. */
static uintptr_t thread_sp(pid_t pid, const char *tid)
{
	for (int attempt = 0; attempt < 50; attempt++) {
		char path[400], line[512], *last, *sp;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/task/%s/syscall", (int)pid, tid);
		f = fopen(path, "r");
		if (!f)
			return 0;
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
		line[strcspn(line, "\n")] = '\0';
		last = strrchr(line, ' ');
		if (last && strncmp(line, "running", 7) != 0) {
			*last = '\0';
			sp = strrchr(line, ' ');
			if (sp)
				return (uintptr_t)strtoull(sp + 1, NULL, 16);
		}
		nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000000 }, NULL);
	}
	return 0;
}

static void scenario_thread_stack(void)
{
	static struct mapping maps[1024];
	char self[32];
	size_t c, n, threads = 0;
	struct dirent *e;
	DIR *dir;
	char path[64];

	if (!setup_daemon(&c))
		return;
	n = maps_read(T.daemon, maps, sizeof(maps) / sizeof(maps[0]));
	tap_ok(n > 0, "the daemon's /proc/PID/maps read (%zu mappings)", n);
	snprintf(self, sizeof(self), "%d", (int)T.daemon);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)T.daemon);
	dir = opendir(path);
	if (!tap_ok(dir != NULL, "the daemon's threads listed"))
		return;
	while ((e = readdir(dir))) {
		uintptr_t sp;
		size_t i;

		if (e->d_name[0] == '.' || strcmp(e->d_name, self) == 0)
			continue;
		threads++;
		sp = thread_sp(T.daemon, e->d_name);
		tap_ok(sp != 0, "thread %s: its stack pointer read", e->d_name);
		for (i = 0; i < n && !(sp >= maps[i].lo && sp < maps[i].hi); i++)
			;
		if (!tap_ok(i < n, "thread %s: the mapping holding its stack found", e->d_name))
			continue;
		tap_ok(maps[i].anon && strncmp(maps[i].perm, "rw", 2) == 0,
		       "thread %s: its stack is an anonymous read-write mapping (%s)", e->d_name,
		       maps[i].perm);
		tap_ok(maps[i].hi - maps[i].lo >= STACK_MIN && maps[i].hi - maps[i].lo <= STACK_MAX,
		       "thread %s: its stack is %" PRIuPTR " KiB (between %u and %u)", e->d_name,
		       (maps[i].hi - maps[i].lo) / 1024, STACK_MIN / 1024, STACK_MAX / 1024);
	}
	closedir(dir);
	tap_ok(threads == 1, "one thread besides the main one (the network thread): %zu", threads);
}

/* glibc gives a second thread's arena a heap of exactly HEAP_MAX_SIZE (2 * the largest mmap
 * threshold: 64 MiB on 64-bit, 1 MiB on 32-bit) of address space, aligned to that size: a
 * read-write part followed by its PROT_NONE reserve. */
static void scenario_one_arena(void)
{
	static struct mapping maps[1024];
	const uintptr_t heap_max = sizeof(long) == 8 ? 64u << 20 : 1u << 20;
	size_t c, n, arenas = 0;

	if (!setup_daemon(&c))
		return;
	n = maps_read(T.daemon, maps, sizeof(maps) / sizeof(maps[0]));
	tap_ok(n > 0, "the daemon's /proc/PID/maps read (%zu mappings)", n);
	for (size_t i = 0; i + 1 < n; i++) {
		const struct mapping *a = &maps[i], *b = &maps[i + 1];

		if (a->anon && b->anon && strncmp(a->perm, "rw", 2) == 0 &&
		    strncmp(b->perm, "---", 3) == 0 && a->hi == b->lo && a->lo % heap_max == 0 &&
		    b->hi - a->lo == heap_max) {
			arenas++;
			tap_diag("a malloc arena at %#" PRIxPTR ", %" PRIuPTR " KiB in use", a->lo,
				 (a->hi - a->lo) / 1024);
		}
	}
	tap_ok(arenas == 0, "no malloc arena besides the main heap: %zu", arenas);
}

static const struct scenario scenarios[] = {
	{ "thread-stack", scenario_thread_stack },
	{ "one-arena", scenario_one_arena },
};

int main(int argc, char **argv)
{
	return fixture_main(argc, argv, scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
