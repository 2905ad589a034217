/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the command path, from an incoming MQTT message to the output lines. The
 * input is "TOPIC\nPAYLOAD" after one flag byte (bit 0: retained, bits 1-7: the time step); the
 * topic is routed by the topic owner (topics_route()), a command goes through command_apply()
 * into the bridge, whose actions are checked against its invariants (at most one output of an
 * interlock group ON), and its timers are run. One configuration with every kind of output
 * rule: plain, pulse, interlock, retained commands accepted, JSON payloads, Homie on. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bridge.h"
#include "command.h"
#include "config.h"
#include "log.h"
#include "mqtt.h"
#include "topics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_config_text[] =
	"mqtt = { base_topic = \"g2m\"; };\n"
	"discovery = { homie = true; };\n"
	"inputs = (\n"
	"  { name = \"button\"; line = \"GPIO17\"; mode = \"button\";\n"
	"    bindings = ( { output = \"lamp\"; action = \"toggle\"; } ); },\n"
	"  { name = \"door\"; line = \"GPIO18\"; }\n"
	");\n"
	"outputs = (\n"
	"  { name = \"lamp\"; line = \"GPIO27\"; payload = \"json\"; },\n"
	"  { name = \"gate\"; line = \"GPIO22\"; pulse_ms = 500; },\n"
	"  { name = \"up\"; line = \"GPIO23\"; accept_retained = true; },\n"
	"  { name = \"down\"; line = \"GPIO24\"; }\n"
	");\n"
	"interlocks = ( { outputs = [ \"up\", \"down\" ]; wait_ms = 300; } );\n";

static struct config *cfg;
static struct topics *topics;

static int fuzz_setup(void)
{
	struct config_errors errors = { 0 };
	char path[64];
	int fd = memfd_create("fuzz-command.conf", MFD_CLOEXEC);

	log_init(LOG_EMERG);
	if (fd < 0 || write(fd, fuzz_config_text, sizeof(fuzz_config_text) - 1) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (config_load(path, &cfg, &errors) != 0 ||
	    topics_new(&topics, cfg, "0123456789abcdef") != 0) {
		for (size_t i = 0; i < errors.n; i++) {
			char line[1024];

			config_error_format(&errors.items[i], line, sizeof(line));
			fprintf(stderr, "%s\n", line);
		}
		abort();
	}
	return 0;
}

/* Carries out the actions of the last call as the daemon does (a driven output is reported
 * back), then checks the invariant: at most one output of the interlock group ON. */
static void fuzz_check(struct bridge *b, uint64_t now)
{
	const struct bridge_action *actions;
	size_t n, up, down;

	actions = bridge_actions(b, &n);
	for (size_t i = 0; i < n; i++)
		if (actions[i].type == BRIDGE_ACTION_SET_OUTPUT)
			bridge_output_driven(b, actions[i].pin, actions[i].active, now);
	if (topics_pin_find(topics, "up", 2, &up) && topics_pin_find(topics, "down", 4, &down) &&
	    bridge_pin_active(b, up) && bridge_pin_active(b, down))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	bool levels[16] = { false };
	struct bridge *b = NULL;
	uint64_t now = 1000;

	if (!ready) {
		if (fuzz_setup() < 0)
			return -1;
		ready = true;
	}
	if (bridge_new(&b, cfg, levels) != 0)
		return 0;
	/* Several messages per input, each "FLAGS TOPIC \n PAYLOAD \0". */
	while (size > 1) {
		const uint8_t *end = memchr(data, '\0', size);
		size_t len = end ? (size_t)(end - data) : size;
		const uint8_t *nl;

		if (len < 2) { /* no room for a topic: the next message */
			size -= len + (end ? 1 : 0);
			data += len + (end ? 1 : 0);
			if (!end)
				break;
			continue;
		}
		nl = memchr(data + 1, '\n', len - 1);
		size_t topic_len = nl ? (size_t)(nl - data - 1) : len - 1;
		char *topic = strndup((const char *)data + 1, topic_len);
		size_t payload_len = nl ? len - 2 - topic_len : 0;
		char *payload = malloc(payload_len + 1);
		struct mqtt_event ev = { .type = MQTT_EVENT_MESSAGE };
		struct topics_match m = { 0 };
		int route;

		if (!topic || !payload) {
			free(topic);
			free(payload);
			break;
		}
		memcpy(payload, nl ? nl + 1 : data, payload_len);
		payload[payload_len] = '\0';
		ev.topic = topic;
		ev.payload = payload;
		ev.payload_len = payload_len;
		ev.retain = data[0] & 1;
		route = topics_route(topics, topic, &m);
		if (route == TOPICS_ROUTE_SET || route == TOPICS_ROUTE_PULSE ||
		    route == TOPICS_ROUTE_UNKNOWN_PIN)
			command_apply(b, cfg, &ev, route, &m, now);
		fuzz_check(b, now);
		now += (uint64_t)(data[0] >> 1) * 37;
		for (uint64_t dl; (dl = bridge_next_deadline(b)) <= now;) {
			bridge_tick(b, dl);
			fuzz_check(b, dl);
		}
		free(topic);
		free(payload);
		if (!end)
			break;
		size -= len + 1;
		data += len + 1;
	}
	bridge_free(b);
	return 0;
}
