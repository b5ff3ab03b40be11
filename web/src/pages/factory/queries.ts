import { useQuery } from '@tanstack/react-query';
import { api } from '../../api.ts';
import type { BaseModel } from './types.ts';

/** The base models this node can fine-tune (`GET /factory/base-models`). */
export function useBaseModels() {
  return useQuery({
    queryKey: ['factory-base-models'],
    queryFn: () => api<{ baseModels: BaseModel[] }>('GET', '/factory/base-models').then((r) => r.baseModels),
    staleTime: 60_000,
  });
}
