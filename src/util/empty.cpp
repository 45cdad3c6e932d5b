// Intentionally empty: stands in for a subsystem that has no code yet (see CMakeLists.txt).
