# SPDX-License-Identifier: MIT
# One process's memory, mapping group by mapping group, from /proc/PID/smaps (tests/bench/README.md,
# "Memory by mapping"). Prints one JSON object:
#   {"proc":NAME,"pid":N,"groups":[{"name":G,"maps":N,"size_kb":N,"rss_kb":N,"pss_kb":N,
#     "private_clean_kb":N,"private_dirty_kb":N},...]}
# Groups: a file's base name (the program itself, each shared library, locale files...),
# [heap], [stack], [vdso], [vvar]..., and the anonymous mappings split into "thread stack" (holds
# the stack pointer of one of the process's threads, read from /proc/PID/task/*/syscall),
# "malloc arena" (read-write, directly followed by its own PROT_NONE reserve: glibc's heap for a
# second thread) and "anonymous" (the rest: big malloc blocks, libraries' mmaps); an anonymous
# mapping right after a file's read-write segment is that file's .bss and counted with it. A PROT_NONE
# mapping (guard page, reserve) is counted with the stack or arena it belongs to.
#   awk -v pid=PID -v proc=NAME -v sps="HEX HEX..." -f mem-map.awk /proc/PID/smaps
# Plain POSIX awk (busybox in the VM): addresses are parsed by hand (48-bit values fit a double).
function hex(s,    i, n, c) {
	n = 0
	s = tolower(s)
	for (i = 1; i <= length(s); i++) {
		c = index("0123456789abcdef", substr(s, i, 1))
		if (c == 0)
			break
		n = n * 16 + c - 1
	}
	return n
}
BEGIN {
	nsp = split(sps, sp, " ")
	for (i = 1; i <= nsp; i++)
		spn[i] = hex(sp[i])
	m = 0
}
$1 ~ /^[0-9a-f]+-[0-9a-f]+$/ {
	m++
	split($1, a, "-")
	lo[m] = hex(a[1]); hi[m] = hex(a[2]); perm[m] = $2
	path = ""
	for (i = 6; i <= NF; i++)
		path = path (path == "" ? "" : " ") $i
	sub(/ \(deleted\)$/, "", path)
	name[m] = path
	rss[m] = pss[m] = pc[m] = pd[m] = size[m] = 0
	next
}
m && $1 == "Size:" { size[m] = $2 }
m && $1 == "Rss:" { rss[m] = $2 }
m && $1 == "Pss:" { pss[m] = $2 }
m && $1 == "Private_Clean:" { pc[m] = $2 }
m && $1 == "Private_Dirty:" { pd[m] = $2 }
END {
	# pass 1: files, [named] mappings, and anonymous ones that are not PROT_NONE
	for (i = 1; i <= m; i++) {
		anon[i] = name[i] == ""
		none[i] = perm[i] ~ /^---/
	}
	for (i = 1; i <= m; i++) {
		g = name[i]
		if (g ~ /^\//) {
			n = split(g, parts, "/")
			g = parts[n]
		} else if (anon[i] && !none[i]) {
			g = "anonymous"
			for (k = 1; k <= nsp; k++)
				if (spn[k] >= lo[i] && spn[k] < hi[i])
					g = "thread stack"
			if (g == "anonymous" && i < m && anon[i + 1] && none[i + 1] && lo[i + 1] == hi[i])
				g = "malloc arena"
			# right after a file's read-write segment: the rest of its .bss
			if (g == "anonymous" && i > 1 && name[i - 1] ~ /^\// && perm[i - 1] ~ /^rw/ && \
			    hi[i - 1] == lo[i])
				g = grp[i - 1]
		}
		grp[i] = g
	}
	# pass 2: an anonymous PROT_NONE mapping goes with the one it guards: a stack's guard lies
	# right below it, an arena's reserve right above its read-write part
	for (i = 1; i <= m; i++) {
		if (!anon[i] || !none[i])
			continue
		if (i < m && anon[i + 1] && !none[i + 1] && lo[i + 1] == hi[i] && grp[i + 1] == "thread stack")
			grp[i] = grp[i + 1]
		else if (i > 1 && anon[i - 1] && !none[i - 1] && hi[i - 1] == lo[i] && grp[i - 1] == "malloc arena")
			grp[i] = grp[i - 1]
		else
			grp[i] = "anonymous"
	}
	ng = 0
	for (i = 1; i <= m; i++) {
		g = grp[i]
		if (!(g in gi)) {
			gi[g] = ++ng
			gn[ng] = g
		}
		j = gi[g]
		gm[j]++; gs[j] += size[i]; gr[j] += rss[i]; gp[j] += pss[i]; gc[j] += pc[i]; gd[j] += pd[i]
	}
	printf "{\"proc\":\"%s\",\"pid\":%d,\"groups\":[", proc, pid
	for (j = 1; j <= ng; j++)
		printf "%s{\"name\":\"%s\",\"maps\":%d,\"size_kb\":%d,\"rss_kb\":%d,\"pss_kb\":%d,\"private_clean_kb\":%d,\"private_dirty_kb\":%d}", \
			(j > 1 ? "," : ""), gn[j], gm[j], gs[j], gr[j], gp[j], gc[j], gd[j]
	printf "]}\n"
}
