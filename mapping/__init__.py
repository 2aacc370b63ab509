"""facade-mapper: show model, geometry, cues, commands, renderer and outputs of the projection-mapping controller."""
