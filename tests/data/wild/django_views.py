import json
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

def load_order(raw):
    try:
        return json.loads(raw)
    except ValueError as e:
        raise RuntimeError("order payload is not JSON") from e

@csrf_exempt
def orders(request):
    return JsonResponse(load_order(request.body.decode() or "{bad"))

def health(request):
    return JsonResponse({"ok": True})
