"""The twin of BenchmarkCodecRecords (bench/codec_test.go): 10 000 small
records {id=, name=, tags={...}} pickled (protocol 5) and unpickled, one
round trip per operation, in one process. RESULT: the mean time of one round
trip."""

import pickle

from harness import measure

RECORDS = [{"id": i, "name": "user" + str(i), "tags": ["a", "b", "c"]} for i in range(1, 10001)]


def round_trip():
    data = pickle.dumps(RECORDS, protocol=5)
    if len(pickle.loads(data)) != len(RECORDS):
        raise RuntimeError("records lost")


if __name__ == "__main__":
    measure(round_trip)
