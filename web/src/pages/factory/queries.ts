import { useQuery } from '@tanstack/react-query';
import { call, routes } from '../../api.ts';

/** The base models this node can fine-tune (`GET /factory/base-models`). */
export function useBaseModels() {
  return useQuery({
    queryKey: ['factory-base-models'],
    queryFn: () => call(routes.listBaseModels, {}).then((r) => r.baseModels),
    staleTime: 60_000,
  });
}
