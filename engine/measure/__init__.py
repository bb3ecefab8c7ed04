"""Speed: how a model's throughput and latency are measured (benchmark), what
each layer costs (layers), which batch × streams is best (explore), and the
one protocol every speed figure and ratio goes through (protocol)."""
