/* Compiles toolhost_json.h on its own as strict C99 (see Package.swift's flags for this target). */
#include "CToolHostJSONTesting.h"

const char *toolhost_json_testing_status_name(toolhost_json_status status) {
    switch (status) {
    case TOOLHOST_JSON_OK: return "ok";
    case TOOLHOST_JSON_MISSING: return "missing";
    case TOOLHOST_JSON_WRONG_TYPE: return "wrong type";
    case TOOLHOST_JSON_TOO_LONG: return "too long";
    case TOOLHOST_JSON_OUT_OF_RANGE: return "out of range";
    case TOOLHOST_JSON_MALFORMED: return "malformed";
    }
    return "?";
}
