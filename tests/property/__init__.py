"""Property tests: the rules of DESIGN.md §4 (matching) and §6 (streaming) for generated inputs."""
