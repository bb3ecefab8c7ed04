"""Remote targets: measure and calibrate on the machine a model is for.

transport  the system OpenSSH client: strict host keys, one ControlMaster per target
prepare    Python, openvino/nncf and owb's own worker code on the target, its CPU facts
upload     content-addressed asset cache on the target (sha256; temp name, verify, rename)
remote     the host side of a remote job: assets, upload, start, follow, bring results back
worker     the target side: run with the pushed code, detached from the SSH session
"""
