/* SPDX-License-Identifier: MIT */
#pragma once

/* The configuration as plain structs. libconfig is used only in config.c; nothing outside it sees
 * a config_t. config_load() validates everything and fills in every default, so the rest of the
 * daemon never checks a value again.
 *
 * The files: config.c reads (libconfig, one generic reader over the key tables, and the
 * hand-written checks that need the file: names, lines, bindings, interlocks, secrets);
 * config_schema.[ch] holds the key tables (one row per key: type, field, range, words, default,
 * the pin kinds it applies to; how to add a key is there); config_check.[ch] the semantic checks
 * of single values; config_text.[ch] UTF-8, topics, quoting and the error list; config_dump.c
 * prints a configuration (--check -v) from the same tables. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cover.h"

#define CONFIG_NAME_MAX 64 /* bytes in a pin name */

enum config_protocol {
	CONFIG_PROTOCOL_V5,
	CONFIG_PROTOCOL_V311,
};

enum config_direction {
	CONFIG_DIRECTION_INPUT,
	CONFIG_DIRECTION_OUTPUT,
	CONFIG_DIRECTION_COVER, /* a cover (covers = ( ... )): no line, drives outputs */
};

enum config_bias {
	CONFIG_BIAS_AS_IS,
	CONFIG_BIAS_DISABLED,
	CONFIG_BIAS_PULL_UP,
	CONFIG_BIAS_PULL_DOWN,
};

enum config_drive {
	CONFIG_DRIVE_PUSH_PULL,
	CONFIG_DRIVE_OPEN_DRAIN,
	CONFIG_DRIVE_OPEN_SOURCE,
};

enum config_input_mode {
	CONFIG_INPUT_MODE_SWITCH, /* the state follows the level */
	CONFIG_INPUT_MODE_BUTTON, /* momentary: single, double and long press events */
	CONFIG_INPUT_MODE_COUNTER, /* a meter's pulses counted (src/meter.h) */
};

/* Which edge of a counter's input is a pulse (logical levels: active_low applied). */
enum config_counter_edge {
	CONFIG_COUNTER_EDGE_RISING,  /* to the active level */
	CONFIG_COUNTER_EDGE_FALLING, /* to the inactive level */
};

enum config_binding_action {
	CONFIG_BINDING_TOGGLE, /* button: on each press; switch: on each change */
	CONFIG_BINDING_FOLLOW, /* the output takes the input's level */
	CONFIG_BINDING_ON,     /* switched ON when the input becomes active */
	CONFIG_BINDING_OFF,    /* switched OFF when the input becomes active */
};

enum config_binding_when {
	CONFIG_BINDING_ALWAYS,
	CONFIG_BINDING_OFFLINE, /* only while no broker is connected */
};

enum config_power_on {
	CONFIG_POWER_ON_OFF,
	CONFIG_POWER_ON_ON,
	CONFIG_POWER_ON_RESTORE, /* the last commanded level, from the state file */
};

enum config_on_exit {
	CONFIG_ON_EXIT_KEEP, /* the line is released as it is */
	CONFIG_ON_EXIT_OFF,  /* driven OFF, then released */
};

/* What a cover is, for Home Assistant's device_class (and people). */
enum config_cover_class {
	CONFIG_COVER_SHUTTER,
	CONFIG_COVER_BLIND,
	CONFIG_COVER_GARAGE,
	CONFIG_COVER_GATE,
	CONFIG_COVER_AWNING,
	CONFIG_COVER_CURTAIN,
	CONFIG_COVER_SHADE,
	CONFIG_COVER_WINDOW,
	CONFIG_COVER_DOOR,
};

/* How Home Assistant shows an output (discovery). */
enum config_component {
	CONFIG_COMPONENT_SWITCH,
	CONFIG_COMPONENT_LIGHT,
};

enum config_payload {
	CONFIG_PAYLOAD_PLAIN, /* ON / OFF, single / double / long */
	CONFIG_PAYLOAD_JSON,  /* {"state":"ON","time":"...","seq":N} */
};

/* An input driving an output directly. */
struct config_binding {
	size_t output; /* index into config.pins; always an output */
	enum config_binding_action action;
	enum config_binding_when when;
};

/* Outputs of which at most one may be ON; between one going OFF and another going ON at least
 * wait_ms pass. */
struct config_interlock {
	size_t *outputs; /* indices into config.pins */
	size_t n_outputs;
	unsigned int wait_ms;
	int source_line;
};

#define CONFIG_INTERLOCK_NONE SIZE_MAX

struct config_broker {
	char *host;
	int port; /* 1..65535; default 8883 with TLS, else 1883 */
	int source_line;
};

enum config_tls_version {
	CONFIG_TLS_V1_2,
	CONFIG_TLS_V1_3,
};

/* mqtt.tls: present means every broker is reached over TLS. */
struct config_tls {
	bool enabled;            /* the mqtt.tls group is present */
	char *ca_file;           /* NULL: none; with ca_path also NULL, the system's certificates */
	char *ca_path;           /* NULL: none */
	char *cert_file;         /* client certificate, with key_file; NULL when not set */
	char *key_file;          /* NULL when not set */
	char *key_password_file; /* NULL when not set */
	char *key_password;      /* read from key_password_file at load time; never logged */
	enum config_tls_version min_version; /* default TLS 1.2 */
	bool insecure_skip_verify; /* no certificate or host name check; default false */
};

struct config_mqtt {
	struct config_broker *brokers; /* at least one; tried in order */
	size_t n_brokers;
	char *client_id;      /* never NULL: default "gpio2mqtt-<hostname>" */
	char *username;       /* NULL when not set */
	char *password_file;  /* NULL when not set */
	char *password;       /* read from password_file at load time; NULL when not set; never logged */
	enum config_protocol protocol; /* default v5 */
	int keepalive;        /* seconds, 5..3600, default 60 */
	char *base_topic;     /* never NULL: default "gpio2mqtt/<hostname>" */
	int qos;              /* default QoS of state publishes and subscriptions, 0..2, default 1 */
	bool retain;          /* default retain of state publishes, default true */
	bool accept_retained_commands; /* act on retained .../set messages, default false */
	int reconnect_min_ms; /* first reconnect delay, 100..60000, default 500 */
	int reconnect_max_ms; /* backoff cap, reconnect_min_ms..600000, default 30000 */
	struct config_tls tls;
	bool password_from_credential; /* password read from $CREDENTIALS_DIRECTORY/mqtt-password */
	int offline_events;   /* button events kept while offline, 0..100000, default 100 */
	int health_interval_s; /* <base>/health every this many seconds, 0..86400 (0: only on
				* request), default 60 */
};

/* How a line is found: by a line name unique across all chips, or by chip + offset. */
struct config_line {
	char *name;          /* line name, or NULL when chip is set */
	char *chip;          /* chip path ("/dev/gpiochip0"), name ("gpiochip0") or label, or NULL */
	unsigned int offset; /* meaningful only when chip != NULL */
};

/* A PWM light's channel and curve (lights = ( { ...; pwm = { ... }; } ); src/config_light.c
 * reads and prints the group). */
struct config_pwm {
	char *chip;          /* the PWM chip's device name or driver (src/pwm.h); never NULL in
			      * a light */
	unsigned int channel;
	unsigned int frequency_hz; /* 1..1000000, default 1000 */
	bool inversed;       /* polarity = "inversed" (a light that is on while the pin is low) */
	double gamma;        /* the perceptual curve, 1.0..4.0, default 2.2 */
	double min_duty;     /* percent of the period at the lowest brightness, default 0 */
	double max_duty;     /* percent at full brightness, above min_duty, default 100 */
	int source_line;
};

struct config_pin {
	char *name; /* a safe MQTT topic level, unique among all pins */
	enum config_direction direction;
	struct config_line line;
	int source_line; /* where the pin's group starts in the file, for messages */
	enum config_bias bias; /* default as-is */
	bool active_low;       /* default false */
	unsigned int debounce_ms; /* inputs only, 0..10000, default 0 */
	enum config_input_mode mode;   /* inputs only, default switch */
	unsigned int double_press_ms; /* buttons: 0 (no double presses)..5000, default 400 */
	unsigned int long_press_ms;   /* buttons: 100..60000, default 800 */
	bool publish_state;           /* inputs: publish ON/OFF; default true for switches, false
				       * for buttons */
	struct config_binding *bindings; /* inputs only */
	size_t n_bindings;
	enum config_drive drive;  /* outputs only, default push-pull */
	enum config_power_on power_on; /* outputs only, default off */
	bool initial;             /* outputs only: the level power_on asks for, resolved at load
				   * time for "on"/"off" (restore: false until the state file is read) */
	enum config_on_exit on_exit; /* outputs only, default keep */
	unsigned int pulse_ms;    /* outputs only: every ON ends after this long; 0: no pulse */
	size_t interlock;         /* outputs: index into config.interlocks, or CONFIG_INTERLOCK_NONE */
	bool accept_retained;     /* act on retained /set messages; default mqtt.accept_retained_commands */
	enum config_payload payload; /* default plain */
	int qos;                  /* per-pin override of mqtt.qos, else the same */
	bool retain;              /* per-pin override of mqtt.retain, else the same */
	enum config_component component; /* outputs: Home Assistant switch (default) or light */
	char *device_class;       /* inputs: Home Assistant binary_sensor class, or NULL */
	char *display_name;       /* the name people see in Home Assistant and openHAB, or NULL:
				   * the pin's name */
	/* counters (mode = "counter"; src/meter.h has the meaning of each) */
	enum config_counter_edge counter_edge; /* default rising */
	unsigned int pulses_per_unit;    /* 1..1000000, default 1000 */
	unsigned int precision;          /* decimals of the total, 0..6, default 3 */
	char *unit;                      /* of the total, default "kWh" */
	char *rate_unit;                 /* of the rate, default "W" */
	unsigned int rate_scale;         /* 1..1000000, default 1000 */
	unsigned int rate_period_s;      /* 1..86400, default 3600 (kWh per hour * 1000: W) */
	unsigned int rate_precision;     /* 0..6, default 0 */
	unsigned int rate_interval_ms;   /* 0..3600000, default 10000 */
	unsigned int rate_threshold_pct; /* 0..1000, default 5 */
	unsigned int rate_timeout_s;     /* 1..86400, default 600 */
	unsigned int save_pulses;        /* 0 (by time only)..1000000, default 100 */
	unsigned int save_interval_s;    /* 1..86400, default 60 */
	/* PWM lights (lights = ( ... ), src/kind_light.c): a light is an output whose line is a
	 * PWM channel; power_on, on_exit, payload and the rest apply as to outputs. */
	bool light;               /* listed under lights; false for every GPIO pin */
	struct config_pwm pwm;    /* lights only */
	unsigned int transition_ms; /* lights: the fade of a command without a transition,
				     * 0..3600000, default 300 */
	unsigned int dim_ms;      /* lights: a held button ramps from 0 to full in this long,
				   * 500..60000, default 4000 */
	unsigned int brightness_scale; /* lights: full brightness in commands and states, 1..10000,
					* default 100 (Home Assistant's is 255) */
	/* covers only (CONFIG_KIND_COVER; src/cover.h): a cover has no line of its own, it drives
	 * outputs of the file by role. is_cover false: not a cover, the rest is unused. */
	bool is_cover;
	struct cover_config cover;         /* wiring, travel times, delays, end-stops present */
	size_t cover_relay[COVER_RELAYS];  /* outputs by role (cover_relay_used()), or
					    * CONFIG_PIN_NONE */
	size_t cover_endstop[2];           /* inputs at the closed and the open end, or
					    * CONFIG_PIN_NONE */
	unsigned int cover_dead_ms;        /* the wait of its motor relays' interlock group */
	enum config_cover_class cover_class; /* Home Assistant's device_class */
	size_t cover_button[2];            /* wall buttons: [0] down, [1] up (inputs), or
					    * CONFIG_PIN_NONE: a press moves, a press of either while
					    * it moves stops */
	enum config_binding_when cover_button_when; /* always, or only with no broker */
	size_t cover_obstruction;          /* the obstruction input (nothing starts while it is
					    * active, a run stops), or CONFIG_PIN_NONE */
};

#define CONFIG_PIN_NONE SIZE_MAX

/* The words of a button's Homie event property. */
enum config_homie_events {
	CONFIG_HOMIE_EVENTS_PLAIN,   /* single, double, long (as on <base>/<name>/event) */
	CONFIG_HOMIE_EVENTS_OPENHAB, /* SHORT_PRESSED, DOUBLE_PRESSED, LONG_PRESSED: openHAB's
				      * Homie binding makes a system.button trigger channel of them */
};

/* Home Assistant discovery and Homie 4 (src/discovery.h). */
struct config_discovery {
	bool homeassistant; /* default true */
	char *prefix;       /* never NULL: default "homeassistant" */
	char *birth_topic;  /* never NULL: Home Assistant's birth and will topic, where "online"
			     * asks for the documents again; default "homeassistant/status" */
	bool homie;         /* default false */
	enum config_homie_events homie_events; /* default plain */
	char *device_name;  /* the device's name in Home Assistant and Homie, or NULL: the
			     * hostname */
};

struct config {
	char *path;
	struct config_mqtt mqtt;
	struct config_pin *pins; /* inputs first, in file order, then outputs in file order */
	size_t n_pins;
	size_t n_inputs;
	size_t n_outputs;
	struct config_interlock *interlocks;
	size_t n_interlocks;
	char *state_dir; /* default /var/lib/gpio2mqtt; $STATE_DIRECTORY wins at run time */
	struct config_discovery discovery;
	size_t n_lights; /* PWM lights: pins[config_line_pins() .. + n_lights), after every GPIO
			  * pin and before the covers; counted in n_outputs */
};

struct config_error {
	char *file;  /* the file the problem is in */
	int line;    /* 1-based, or 0 when the problem has no line (e.g. the file cannot be read) */
	char *message;
};

struct config_errors {
	struct config_error *items;
	size_t n;
};

/* Loads and validates PATH. Returns 0 and sets *out on success. When the file has problems,
 * returns -EINVAL with every problem found appended to errors (as many as could be found in one
 * pass; a syntax error stops parsing, so it comes alone). -ENOMEM when memory runs out. Logs
 * nothing: the caller decides how to report. */
int config_load(const char *path, struct config **out, struct config_errors *errors);
void config_free(struct config *cfg);

/* Formats one error as "FILE:LINE: message" (or "FILE: message" without a line). */
int config_error_format(const struct config_error *err, char *buf, size_t size);
void config_errors_clear(struct config_errors *errors);

/* How many pins have a GPIO line: the inputs (counters too) and outputs, which come first in
 * config.pins; the PWM lights come after them and the covers last (neither has a GPIO line).
 * gpio.c is given only the first config_line_pins() pins. */
size_t config_line_pins(const struct config *cfg);

/* One line: "2 inputs, 1 output, broker localhost:1883, base topic gpio2mqtt/pi". */
int config_summary(const struct config *cfg, char *buf, size_t size);

/* Reload (SIGHUP): what changed between two loaded configurations. */
/* The same line: the same line name, or the same chip and offset. */
bool config_pin_line_equal(const struct config_pin *a, const struct config_pin *b);
/* The same line requested the same way: config_pin_line_equal(), and the same direction, bias,
 * active_low, and debounce_ms (inputs) or drive (outputs). The level an output is requested
 * with is not compared, nor anything that is not part of the kernel's line request (mode,
 * timings, payloads). On reload, gpio.c can keep a pin's request when this is true for the old
 * and the new pin (its own gpio_settings_same() is the same test without the line, for pins
 * already matched by line). */
bool config_pin_request_equal(const struct config_pin *a, const struct config_pin *b);
/* Everything the MQTT connection is made of (brokers, client id, credentials, protocol,
 * keepalive, backoff, TLS, offline_events, base_topic): equal means no reconnect is needed. */
bool config_mqtt_connection_equal(const struct config_mqtt *a, const struct config_mqtt *b);

/* The fully resolved configuration as a configuration file (gpio2mqtt --check -v; config_dump.c,
 * golden files in tests/unit/golden): every key that is set or applies to the pin's kind, with
 * its default filled in, in the order of the key tables (config_schema.h); optional strings that
 * are not set are left out, and secrets appear only in comments, as "<hidden>". Fed back to
 * config_load() it gives the same configuration and the same dump. */
void config_dump(const struct config *cfg, FILE *out);

const char *config_bias_to_string(enum config_bias bias);
const char *config_drive_to_string(enum config_drive drive);
/* Home Assistant's device_class of a cover: "shutter", "garage", ... */
const char *config_cover_class_to_string(enum config_cover_class cover_class);

/* True when NAME can be one MQTT topic level: 1..CONFIG_NAME_MAX bytes of valid UTF-8, no '+',
 * '#', '/', no control characters, not starting with '$'. */
bool config_topic_level_valid(const char *name);
