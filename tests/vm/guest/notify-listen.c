/* SPDX-License-Identifier: MIT */
/* Guest helper: binds a unix datagram socket at PATH (what NOTIFY_SOCKET names) and writes every
 * sd_notify() message it receives to stdout as one line ("READY=1", "STATUS=..."), flushed, until
 * killed. Built statically on the host so the guest needs nothing else. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char buf[4096];

	if (argc != 2 || strlen(argv[1]) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "usage: notify-listen PATH\n");
		return 2;
	}
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	strcpy(addr.sun_path, argv[1]);
	unlink(argv[1]);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("bind");
		return 1;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			continue;
		buf[n] = '\0';
		/* one assignment per line, as sd_notify() separates them with newlines */
		for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
			printf("%s\n", line);
		fflush(stdout);
	}
}
