# Thin wrapper: everything lives in dev.py so machines without make work the same.
.PHONY: run test lock
run:
	python3 dev.py run
test:
	python3 dev.py test
lock:
	python3 dev.py lock
