"""The judge layer: any MLLM behind one interface, rubrics as versioned templates, scores computed in code."""
