from odata_service.plans import PlanCache


def test_plans_are_built_once_and_kept_only_when_asked():
    cache = PlanCache(max_entries=2)
    built: list[str] = []

    def build(name: str, keep: bool = True):
        def make():
            built.append(name)
            return name.upper(), keep

        return make

    assert cache.get("a", build("a")) == "A"
    assert cache.get("a", build("a")) == "A"
    assert cache.get("t", build("t", keep=False)) == "T"
    assert cache.get("t", build("t", keep=False)) == "T"
    assert built == ["a", "t", "t"] and len(cache) == 1


def test_the_least_recently_used_plan_goes_first():
    cache = PlanCache(max_entries=2)
    for key in ("a", "b"):
        cache.get(key, lambda key=key: (key, True))
    cache.get("a", lambda: ("again", True))  # a is now the most recent
    cache.get("c", lambda: ("c", True))
    assert cache.get("a", lambda: ("rebuilt", True)) == "a"
    assert cache.get("b", lambda: ("rebuilt", True)) == "rebuilt"
