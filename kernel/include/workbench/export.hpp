#pragma once
// Symbols of libworkbench that plugins use. Plugins are built with hidden visibility,
// so SDK classes must be marked visible for their vtables and type info to be shared.
#define WB_API __attribute__((visibility("default")))
