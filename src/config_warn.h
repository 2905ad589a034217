/* SPDX-License-Identifier: MIT */
#pragma once

/* Warnings about a valid configuration that stop nothing, logged here (config_load() logs
 * nothing): a secret file other users may read, or that the service could not read, TLS without
 * verification. Called at start, on reload, and by --check (CHECK), which also says when
 * gpio2mqtt.service's user (a dynamic user in group gpio) could not read a secret file. */

#include <stdbool.h>

#include "config.h"

void config_warn(const struct config_mqtt *cfg, bool check);
