/* SPDX-License-Identifier: MIT */
#include "config_warn.h"

#include <grp.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "log.h"

/* The group gpio2mqtt.service gives its dynamic user (SupplementaryGroups=). */
#define CONFIG_WARN_SERVICE_GROUP "gpio"

/* A secret file's permissions. The shipped unit runs the daemon as a dynamic user whose only
 * group is gpio: it can read a file that is group-readable by gpio (or by everyone), nothing
 * else, so "chmod 600" (owned by root) is the advice that locks the service out. CHECK: also
 * say when the service could not read it (gpio2mqtt --check, usually run as root, which can). */
static void config_warn_file(const char *what, const char *path, bool check)
{
	struct group *gpio = getgrnam(CONFIG_WARN_SERVICE_GROUP);
	struct stat st;

	if (!path || stat(path, &st) != 0)
		return;
	if (st.st_mode & S_IROTH)
		log_warning("mqtt: %s %s can be read by every user on this machine; make it "
			    "readable by the service's group only (chgrp " CONFIG_WARN_SERVICE_GROUP
			    " %s; chmod 640 %s), or use a systemd credential (README, "
			    "\"Credentials\")",
			    what, path, path, path);
	else if (check && !(gpio && st.st_gid == gpio->gr_gid && (st.st_mode & S_IRGRP)))
		log_warning("mqtt: %s %s: gpio2mqtt.service (a dynamic user in group "
			    CONFIG_WARN_SERVICE_GROUP ") cannot read it (owner %u, group %u, mode %04o): "
			    "chgrp " CONFIG_WARN_SERVICE_GROUP " %s; chmod 640 %s, or use a systemd "
			    "credential (LoadCredential=mqtt-password:%s in systemctl edit "
			    "gpio2mqtt, and no password_file)",
			    what, path, (unsigned int)st.st_uid, (unsigned int)st.st_gid,
			    (unsigned int)(st.st_mode & 07777), path, path, path);
}

void config_warn(const struct config_mqtt *cfg, bool check)
{
	if (cfg->password_file && !cfg->password_from_credential)
		config_warn_file("password_file", cfg->password_file, check);
	if (cfg->tls.enabled)
		config_warn_file("tls.key_password_file", cfg->tls.key_password_file, check);
	if (cfg->tls.enabled && cfg->tls.insecure_skip_verify)
		log_warning("mqtt: tls.insecure_skip_verify = true: the broker's certificate and host "
			    "name are NOT checked; anyone on the network path can pose as the broker "
			    "and read the password");
}
