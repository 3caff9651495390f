"""A few training iterations for the model tests (not a test module)."""
import torch


def train_steps(model, batch: dict, steps: int, lr: float) -> list:
    """``steps`` SGD (momentum 0.9) iterations of ``model`` on ``batch``;
    returns the parsed loss logs (each asserted finite)."""
    optim = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    logs = []
    for _ in range(steps):
        data = model.data_preprocessor(batch, True)
        losses = model.loss(data['inputs'], data['data_samples'])
        loss, log = model.parse_losses(losses)
        optim.zero_grad()
        loss.backward()
        optim.step()
        assert torch.isfinite(loss), log
        logs.append({k: float(v) for k, v in log.items()})
    return logs
