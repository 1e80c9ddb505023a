"""The models that perceive, used by the dimensions: face detection, landmarks and identity embeddings, Basic Pitch
note transcription (pitch), the int8 text detector's build (ocr_int8), speech recognition (asr) and voice activity
(vad)."""
