#include "engine/otlp.hpp"

#include <gtest/gtest.h>
