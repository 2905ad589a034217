/* SPDX-License-Identifier: MIT */
/* command.c: what a pin with payload = "json" accepts as a command. */
#include <errno.h>
#include <string.h>

#include "command.h"
#include "tap.h"

int main(void)
{
	static const struct {
		const char *payload;
		int want; /* a bridge_command, or -EINVAL */
	} cases[] = {
		{ "{\"state\":\"ON\"}", BRIDGE_COMMAND_ON },
		{ "{\"state\":\"off\",\"brightness\":3,\"x\":{\"y\":[1]}}", BRIDGE_COMMAND_OFF },
		{ " \n{ \"state\" : \"TOGGLE\" } ", BRIDGE_COMMAND_TOGGLE },
		{ "{\"brightness\":3,\"state\":\"true\"}", BRIDGE_COMMAND_ON },
		{ "ON", BRIDGE_COMMAND_ON },     /* the plain words still work */
		{ " toggle ", BRIDGE_COMMAND_TOGGLE },
		{ "{\"State\":\"ON\"}", -EINVAL }, /* keys are case-sensitive, as in JSON */
		{ "{\"state\":1}", -EINVAL },
		{ "{\"state\":true}", -EINVAL },
		{ "{\"state\":\"ONN\"}", -EINVAL },
		{ "{\"state\":\"ON\"", -EINVAL }, /* cut short */
		{ "{}", -EINVAL },
		{ "[\"ON\"]", -EINVAL },
		{ "", -EINVAL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum bridge_command got = BRIDGE_COMMAND_OFF;
		int r = command_json_parse(cases[i].payload, strlen(cases[i].payload), &got);

		char shown[96];
		size_t n = 0;

		for (const char *c = cases[i].payload; *c && n + 3 < sizeof(shown); c++) {
			if (*c == '\n') {
				shown[n++] = '\\';
				shown[n++] = 'n';
			} else {
				shown[n++] = *c;
			}
		}
		shown[n] = '\0';
		tap_is_int(r < 0 ? r : (int)got, cases[i].want, "json pin: '%s'", shown);
	}
	/* Only LEN bytes count: a valid object followed by bytes outside the message. */
	{
		enum bridge_command got;
		const char *p = "{\"state\":\"ON\"}garbage";

		tap_is_int(command_json_parse(p, 14, &got), 0, "the message's length bounds the parse");
	}
	return tap_done();
}
