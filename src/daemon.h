/* SPDX-License-Identifier: MIT */
#pragma once

/* The running daemon: the loop's callbacks (GPIO edges, MQTT events, the bridge's timer,
 * health, watchdog), carrying out what the bridge decides (drive a line, publish, save the
 * state file), stop and reload. It owns the pins (gpio.c, bridge.c), the connection (mqtt.c,
 * through publish.c), the topics and discovery (topics.c, announce.c). main.c starts it in
 * this order, each step logging its own failure:
 *
 *   daemon_new()            takes the configuration
 *   daemon_pins_open()      restores the state file, requests the lines, builds the bridge
 *   daemon_loop_open()      the loop with the GPIO fds and the timers
 *   daemon_announce_setup() the topics and the discovery documents
 *   daemon_connect()        the network thread
 *   daemon_run()            READY=1, then the loop until a stop
 *
 * Nothing here depends on the kinds of pins beyond what bridge.c, topics.c and discovery.c
 * say about them. */

#include "config.h"
#include "loop.h"

struct daemon;

/* Takes CFG (freed by daemon_free()); CONFIG_PATH is read again on reload. */
int daemon_new(struct daemon **out, struct config *cfg, const char *config_path);
int daemon_pins_open(struct daemon *d);
int daemon_loop_open(struct daemon *d);
int daemon_announce_setup(struct daemon *d);
int daemon_connect(struct daemon *d);
/* Returns loop_run()'s result. */
int daemon_run(struct daemon *d);
/* Switches outputs with on_exit = "off" OFF, disconnects and releases everything. */
void daemon_free(struct daemon *d);

/* The loop, for main.c's signal fd. */
struct loop *daemon_loop(struct daemon *d);

/* A clean stop (WHY: the signal's name): "offline" published, then the loop ends. */
void daemon_stop(struct daemon *d, const char *why);
/* SIGHUP: the file is read again and applied, or the running configuration stays. */
void daemon_reload(struct daemon *d);
