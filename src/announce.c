/* SPDX-License-Identifier: MIT */
#include "announce.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build-config.h"
#include "file.h"
#include "log.h"
#include "paths.h"
#include "util.h"

int announce_setup(struct announce *a, const struct config *cfg, struct topics **topics)
{
	char id[DISCOVERY_ID_LEN + 1], host[256];
	char **previous = NULL;
	size_t n_previous = 0;
	int r;

	*a = (struct announce){ 0 };
	*topics = NULL;
	util_hostname(host, sizeof(host), "gpio2mqtt");
	r = discovery_id_read(id);
	if (r < 0) {
		discovery_id_from_name(host, id);
		if (cfg->discovery.homeassistant || cfg->discovery.homie)
			log_warning("discovery: no machine id (%s: %s); ids derived from the hostname "
				    "'%s' instead, they change with it",
				    getenv(DISCOVERY_MACHINE_ID_ENV) ? getenv(DISCOVERY_MACHINE_ID_ENV)
								     : DISCOVERY_MACHINE_ID_FILE,
				    strerror(-r), host);
	}
	r = topics_new(topics, cfg, id);
	if (r == 0)
		r = discovery_new(&a->discovery, *topics, host, GPIO2MQTT_VERSION);
	if (r == 0)
		r = discovery_topics_owned(a->discovery, &a->owned, &a->n_owned);
	if (r == 0)
		r = paths_state_file(cfg, DISCOVERY_TOPICS_FILE, a->path, sizeof(a->path));
	if (r < 0) {
		log_error("discovery: %s", strerror(-r));
		goto clear;
	}

	r = discovery_topics_load(a->path, &previous, &n_previous);
	if (r != 0)
		log_warning("discovery: cannot read %s: %s; documents of removed pins are not "
			    "cleared",
			    a->path, r > 0 ? file_read_outcome_string(r) : strerror(-r));
	r = discovery_removals(a->discovery, previous, n_previous, a->owned, a->n_owned,
			       &a->clears);
	/* Nothing new to remember: the file is left alone (and not created when nothing is
	 * announced). */
	a->saved = a->clears.n == 0 && n_previous == a->n_owned;
	discovery_topics_free(previous, n_previous);
	if (r < 0) {
		log_error("discovery: %s", strerror(-r));
		goto clear;
	}
	return 0;

clear:
	announce_clear(a);
	topics_free(*topics);
	*topics = NULL;
	return r;
}

void announce_clear(struct announce *a)
{
	discovery_free(a->discovery);
	discovery_messages_clear(&a->clears);
	discovery_topics_free(a->owned, a->n_owned);
	*a = (struct announce){ 0 };
}

void announce_subscribe(const struct announce *a, const struct publish *p)
{
	if (!a->discovery)
		return;
	publish_subscribe(p, p->topics->ha_status);
	for (size_t i = 0; i < p->topics->n_pins; i++)
		publish_subscribe(p, p->topics->pins[i].homie_set);
	for (size_t i = 0; i < p->topics->n_pins; i++)
		publish_subscribe(p, p->topics->pins[i].homie_position_set); /* covers */
	for (size_t i = 0; i < p->topics->n_pins; i++) /* lights (NULL for other pins) */
		publish_subscribe(p, p->topics->pins[i].homie_brightness_set);
}

/* Every Home Assistant config, and with HOMIE the Homie tree. */
static void announce_documents(const struct announce *a, const struct publish *p, bool homie)
{
	struct discovery_messages list = { 0 };
	int r;

	r = discovery_ha_configs(a->discovery, &list);
	if (r == 0 && homie)
		r = discovery_homie_tree(a->discovery, &list);
	if (r < 0)
		log_error("discovery: cannot build the documents: %s", strerror(-r));
	publish_messages(p, &list);
	discovery_messages_clear(&list);
}

void announce_send(struct announce *a, const struct publish *p)
{
	int r;

	if (!a->discovery)
		return;
	if (!a->saved && a->clears.n) {
		log_notice("discovery: clearing %zu retained documents of pins or features no longer "
			   "configured", a->clears.n);
		publish_messages(p, &a->clears);
	}
	announce_documents(a, p, true);
	if (a->saved || !a->path[0])
		return;
	/* Outside systemd nobody creates the state directory for us. */
	paths_dir_create(a->path);
	r = discovery_topics_save(a->path, a->owned, a->n_owned);
	if (r < 0)
		log_warning("discovery: cannot save %s: %s (a pin removed later keeps its Home "
			    "Assistant entity until it is deleted by hand)",
			    a->path, strerror(-r));
	a->saved = r == 0;
}

bool announce_ha_birth(const struct announce *a, const struct publish *p,
		       const struct mqtt_event *ev)
{
	if (!a->discovery ||
	    !discovery_ha_online(a->discovery, ev->topic, ev->payload, ev->payload_len))
		return false;
	/* A retained birth message comes with every subscription: the announcement on connect
	 * covered it. */
	if (ev->retain)
		return false;
	log_info("discovery: Home Assistant is online; sending every config and state again");
	announce_documents(a, p, false);
	return true;
}
