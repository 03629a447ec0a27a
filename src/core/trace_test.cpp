#include "core/trace.hpp"

#include <gtest/gtest.h>
