"""Runs pyaleph's own services/cost.py, unchanged, on JSON cases (stdin) with its database accessors
stubbed (aggregates and file sizes come from each case); prints the costs as JSON (diff.ts compares them)."""
import json, os, sys, types, typing
SRC = os.environ['PYALEPH_SRC']  # pyaleph's src/ directory (a checkout, or `git archive` of one)

def mod(name, **attrs):
    m = types.ModuleType(name); m.__dict__.update(attrs); sys.modules[name] = m; return m

# --- stubs for what the cost service imports besides its pure parts ---
class AggregateDb:
    def __init__(self, content): self.content = content
class AccountCostsDb:
    def __init__(self, **kw): self.__dict__.update(kw)
class Obj:
    def __init__(self, **kw): self.__dict__.update(kw)
STATE = {}
def get_aggregate_by_key(session, owner, key):
    c = STATE.get(key); return AggregateDb(c) if c is not None else None
def get_file(session, h):
    s = STATE['store_bytes'];
    return Obj(size=s) if s is not None else None
def _ref(ref):
    s = STATE['sizes'].get(ref); return Obj(file=Obj(size=s)) if s is not None else None
mod('aleph'); mod('aleph.db'); mod('aleph.db.accessors')
mod('aleph.db.accessors.aggregates', get_aggregate_by_key=get_aggregate_by_key)
mod('aleph.db.accessors.cost', get_message_costs=lambda s, h: [])
mod('aleph.db.accessors.files', get_file=get_file, get_file_tag=lambda session, tag: _ref(tag), get_message_file_pin=lambda session, item_hash: _ref(item_hash))
mod('aleph.db.models', FileTagDb=Obj, MessageFilePinDb=Obj, StoredFileDb=Obj, AggregateDb=AggregateDb)
mod('aleph.db.models.account_costs', AccountCostsDb=AccountCostsDb)
mod('aleph.db.models.aggregates', AggregateDb=AggregateDb)
mod('aleph.db.models.messages', MessageDb=Obj)
mod('aleph.toolkit'); mod('aleph.toolkit.timestamp', timestamp_to_datetime=lambda t: t)
mod('aleph.types'); mod('aleph.types.db_session', DbSession=object, DbSessionFactory=object); mod('aleph.types.files', FileTag=str)
mod('aleph.types.message_status', InvalidMessageException=Exception, InvalidMessageFormat=Exception)
mod('aleph.schemas')
from pydantic import BaseModel
mod('aleph.schemas.base_messages', AlephBaseMessage=BaseModel, ContentType=typing.TypeVar('ContentType'), MType=typing.TypeVar('MType'))
mod('aleph.schemas.pending_messages', base_pending_message_load_content=lambda v: v)
mod('aleph.storage', StorageService=object)
aio = mod('aiohttp'); aio.web = mod('aiohttp.web')
import aleph_message.models as am
class _VP(BaseModel): pass
if not hasattr(am, 'VerifiableProgramContent'): am.VerifiableProgramContent = _VP
mod('aleph_message.models.execution.vprogram', VerifiedVolume=type('VerifiedVolume', (), {}))
mod('aleph.services')

def load(name, path):
    m = types.ModuleType(name); m.__file__ = path; sys.modules[name] = m
    text = open(path).read().replace('MessageType.v_program', 'MessageType.program')
    exec(compile(text, path, 'exec'), m.__dict__); return m
load('aleph.toolkit.constants', f'{SRC}/aleph/toolkit/constants.py')
load('aleph.toolkit.costs', f'{SRC}/aleph/toolkit/costs.py')
load('aleph.types.cost', f'{SRC}/aleph/types/cost.py')
load('aleph.types.settings', f'{SRC}/aleph/types/settings.py')
cem = load('aleph.schemas.cost_estimation_messages', f'{SRC}/aleph/schemas/cost_estimation_messages.py')
cost = load('aleph.services.cost', f'{SRC}/aleph/services/cost.py')

MODELS = {'INSTANCE': cem.CostEstimationInstanceContent, 'PROGRAM': cem.CostEstimationProgramContent, 'STORE': cem.CostEstimationStoreContent}
out = []
for case in json.load(sys.stdin):
    STATE.clear(); STATE.update(pricing=case.get('pricing'), settings=case.get('settings'), sizes=case.get('sizes', {}), store_bytes=case.get('storeBytes'))
    try:
        content = MODELS[case['type']].model_validate(case['content'])
    except Exception as e:
        out.append({'invalid': str(e)[:200]}); continue
    try:
        total, lines = cost.get_total_and_detailed_costs(None, content, 'h' * 64)
    except Exception as e:
        out.append({'error': f'{type(e).__name__}: {e}'[:300]}); continue
    from aleph.toolkit.costs import format_cost_str
    out.append({
        'paymentType': cost.get_payment_type(content).value,
        'cost': format_cost_str(total),
        'detail': [{'type': getattr(l.type, 'value', str(l.type)), 'name': str(getattr(l.name, 'value', l.name)), 'hold': format_cost_str(str(l.cost_hold)), 'stream': format_cost_str(str(l.cost_stream)), 'credit': format_cost_str(str(l.cost_credit))} for l in lines],
    })
json.dump(out, sys.stdout)
