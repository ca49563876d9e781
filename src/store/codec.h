/*
 * codec.h — JSON codecs of the store module that backends share but that are
 * not part of event.h's contract: the failure object stored in the instance
 * row, and an event encoder that tells invalid text from out of memory.
 *
 * Owns: nothing beyond what each call returns (malloc'd, caller frees).
 * Threading: plain functions; no state.
 */
#ifndef DT_STORE_CODEC_H
#define DT_STORE_CODEC_H

#include "durata.h"
#include "store/event.h"

#include <jansson.h>

/* Encodes e as in dt_event_to_json into *out. DURATA_EINVAL when a string
 * field is not valid UTF-8 (JSON cannot carry it) or the type is unknown,
 * DURATA_ENOMEM on out of memory. */
DURATA_MUST_CHECK int dt_event_encode(const struct dt_event *e, char **out);

/* Decodes one event from a parsed JSON object (as dt_event_from_json).
 * DURATA_ECORRUPT (wrong shape) / DURATA_ENOMEM. */
DURATA_MUST_CHECK int dt_event_from_value(const json_t *o, struct dt_event **out);

/* The failure object {"ErrorType","ErrorMessage","StackTrace","IsNonRetriable"}
 * as JSON text; *out = NULL when f is NULL. DURATA_EINVAL / DURATA_ENOMEM. */
DURATA_MUST_CHECK int dt_failure_encode(const struct durata_failure *f, char **out);

/* Decodes what dt_failure_encode wrote; text NULL gives *out = NULL.
 * DURATA_EJSON (not JSON) / DURATA_ECORRUPT (wrong shape) / DURATA_ENOMEM. */
DURATA_MUST_CHECK int dt_failure_decode(const char *text, struct durata_failure **out);

#endif
