"""Service wiring without starting anything: which fetch wait each consumer group polls with."""
from gx_kernel.service import ConsumerSpec, app_wiring, wiring
from gx_kernel.settings import ServiceSettings


async def _noop(conn, event) -> None:
    return None


def test_followers_poll_with_the_longer_wait():
    settings = ServiceSettings.model_construct(service_name="svc", consumer_fetch_wait_ms=50,
                                               follower_fetch_wait_ms=250)
    wired = wiring(settings, [ConsumerSpec("intake", ["a.events"], handler=_noop),
                              ConsumerSpec("follow", ["b.events"], handler=_noop,
                                           follower=True)])
    assert [s.fetch_max_wait_ms for s in wired.subscriptions] == [50, 250]


def test_only_the_domains_off_the_submit_path_follow():
    """Registry, population and organisation only follow review events of their own cases;
    agri's and workflow's consumers are on the submit -> queue path and keep the short wait."""
    from gx_agri.main import create_app as agri
    from gx_agri.settings import AgriSettings
    from gx_organisation.main import create_app as organisation
    from gx_organisation.settings import OrganisationSettings
    from gx_population.main import create_app as population
    from gx_population.settings import PopulationSettings
    from gx_registry.main import create_app as registry
    from gx_registry.settings import RegistrySettings
    from gx_workflow.main import create_app as workflow
    from gx_workflow.settings import WorkflowSettings

    waits = {}
    for make, config in ((agri, AgriSettings), (workflow, WorkflowSettings),
                         (registry, RegistrySettings), (population, PopulationSettings),
                         (organisation, OrganisationSettings)):
        settings = config()
        waits[settings.service_name] = {s.fetch_max_wait_ms
                                        for s in app_wiring(make(settings)).subscriptions}
    assert waits == {"agri": {50}, "workflow": {50}, "registry": {250}, "population": {250},
                     "organisation": {250}}
